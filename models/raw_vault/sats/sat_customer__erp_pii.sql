-- An ERP customer's personal data, masked exactly as in staging
-- (salted SHA-256), kept apart so access can be limited to it.
with customers as (

    select * from {{ ref('stg_erp__customers') }}

),

customers_keyed as (

    select
        {{ vault_hash(['customer_id', 'null']) }} as customer_hk,
        street_address_hash,
        phone_number_hash,
        loaded_at as load_at,
        'erp.customer' as record_source
    from customers

),

{{ vault_sat(
    'customers_keyed',
    'customer_hk',
    'customer_hashdiff',
    [
        'street_address_hash',
        'phone_number_hash',
    ],
) }}

select * from final
