-- An ERP customer's descriptive attributes (PII apart, in
-- sat_customer__erp_pii).
with customers as (

    select * from {{ ref('stg_erp__customers') }}

),

customers_keyed as (

    select
        {{ vault_hash(['customer_id', 'null']) }} as customer_hk,
        customer_name,
        account_balance,
        market_segment,
        customer_comment,
        loaded_at as load_at,
        'erp.customer' as record_source
    from customers

),

{{ vault_sat(
    'customers_keyed',
    'customer_hk',
    'customer_hashdiff',
    [
        'customer_name',
        'account_balance',
        'market_segment',
        'customer_comment',
    ],
) }}

select * from final
