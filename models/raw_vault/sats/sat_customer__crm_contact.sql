-- A customer's or lead's CRM profile (PII apart, in sat_customer__crm_pii).
-- A lead is keyed by its contact id until it converts; from then on its
-- profile is a version of the ERP customer it became.
with contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

contact_keys as (

    select
        contact_id,
        customer_id,
        lifecycle_stage,
        account_name,
        preferred_channel,
        loyalty_tier,
        has_marketing_consent,
        created_at,
        converted_at,
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
        lifecycle_stage,
        account_name,
        preferred_channel,
        loyalty_tier,
        has_marketing_consent,
        created_at,
        converted_at,
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
        'lifecycle_stage',
        'account_name',
        'preferred_channel',
        'loyalty_tier',
        'has_marketing_consent',
        'created_at',
        'converted_at',
    ],
) }}

select * from final
