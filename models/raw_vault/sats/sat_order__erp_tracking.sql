-- Record tracking of orders in the ERP: a cancelled (deleted) order gets
-- a row with is_deleted, so it shows as ended instead of vanishing.
with orders as (

    select * from {{ ref('stg_erp__orders') }}

),

orders_keyed as (

    select
        {{ vault_hash(['order_id']) }} as order_hk,
        loaded_at as load_at,
        'erp.orders' as record_source
    from orders

),

{{ vault_record_tracking_sat('orders_keyed', 'order_hk') }}

select * from final
