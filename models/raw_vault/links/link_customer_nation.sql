-- The nation an ERP customer belongs to.
with customers as (

    select * from {{ ref('stg_erp__customers') }}

),

customers_keyed as (

    select
        {{ vault_hash(
            ['customer_id', 'null', 'nation_id']
        ) }} as customer_nation_hk,
        {{ vault_hash(['customer_id', 'null']) }} as customer_hk,
        {{ vault_hash(['nation_id']) }} as nation_hk,
        loaded_at as load_at,
        'erp.customer' as record_source
    from customers

),

{{ vault_link(
    ['customers_keyed'],
    'customer_nation_hk',
    ['customer_hk', 'nation_hk'],
) }}

select * from final
