-- An order's attributes in the ERP.
with orders as (

    select * from {{ ref('stg_erp__orders') }}

),

orders_keyed as (

    select
        {{ vault_hash(['order_id']) }} as order_hk,
        order_status,
        total_price,
        order_date,
        order_priority,
        clerk_id,
        ship_priority,
        order_comment,
        loaded_at as load_at,
        'erp.orders' as record_source
    from orders

),

{{ vault_sat(
    'orders_keyed',
    'order_hk',
    'order_hashdiff',
    [
        'order_status',
        'total_price',
        'order_date',
        'order_priority',
        'clerk_id',
        'ship_priority',
        'order_comment',
    ],
) }}

select * from final
