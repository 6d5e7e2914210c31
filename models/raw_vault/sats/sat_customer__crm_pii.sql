-- A CRM contact's personal data, masked exactly as in staging (salted
-- SHA-256), kept apart so access can be limited to it.
with contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

contact_keys as (

    select
        contact_id,
        customer_id,
        email_address_hash,
        phone_number_hash,
        loaded_at,
        case
            when customer_id is null then contact_id
        end as lead_contact_id
    from contacts

),

contacts_keyed as (

    select
        {{ vault_hash(['customer_id', 'lead_contact_id']) }} as customer_hk,
        contact_id,
        email_address_hash,
        phone_number_hash,
        loaded_at as load_at,
        'crm.contacts' as record_source
    from contact_keys

),

{{ vault_sat(
    'contacts_keyed',
    'customer_hk',
    'customer_hashdiff',
    [
        'contact_id',
        'email_address_hash',
        'phone_number_hash',
    ],
) }}

select * from final
