-- Which customer placed an order (hub_customer's key is the pair
-- customer_id, lead_contact_id; an ERP customer has no lead id).
with orders as (

    select * from {{ ref('stg_erp__orders') }}

),

orders_keyed as (

    select
        {{ vault_hash(
            ['order_id', 'customer_id', 'null']
        ) }} as order_customer_hk,
        {{ vault_hash(['order_id']) }} as order_hk,
        {{ vault_hash(['customer_id', 'null']) }} as customer_hk,
        loaded_at as load_at,
        'erp.orders' as record_source
    from orders

),

{{ vault_link(
    ['orders_keyed'],
    'order_customer_hk',
    ['order_hk', 'customer_hk'],
) }}

select * from final
