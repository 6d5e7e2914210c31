-- Record tracking of customer keys in the CRM: a lead's key ends when
-- the lead converts (it is then keyed by its ERP customer).
with contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

contact_keys as (

    select
        contact_id,
        customer_id,
        loaded_at,
        case
            when customer_id is null then contact_id
        end as lead_contact_id
    from contacts

),

contacts_keyed as (

    select
        {{ vault_hash(['customer_id', 'lead_contact_id']) }} as customer_hk,
        loaded_at as load_at,
        'crm.contacts' as record_source
    from contact_keys

),

{{ vault_record_tracking_sat('contacts_keyed', 'customer_hk') }}

select * from final
