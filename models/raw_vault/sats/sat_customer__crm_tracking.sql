-- Record tracking of customer keys in the CRM: a lead's key ends when
-- the lead converts (it is then keyed by its ERP customer).
with contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

contacts_keyed as (

    select
        {{ vault_hash([
            'customer_id',
            'case when customer_id is null then contact_id end',
        ]) }} as customer_hk,
        loaded_at as load_at,
        'crm.contacts' as record_source
    from contacts

),

{{ vault_record_tracking_sat('contacts_keyed', 'customer_hk') }}

select * from final
