-- Orders, keyed by the ERP order key, from every source that names one:
-- the ERP's orders and lines and the carrier's events.
with orders as (

    select * from {{ ref('stg_erp__orders') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

shipment_events as (

    select * from {{ ref('stg_carrier__shipment_events') }}

),

orders_keyed as (

    select
        {{ vault_hash(['order_id']) }} as order_hk,
        order_id,
        loaded_at as load_at,
        'erp.orders' as record_source
    from orders

),

order_lines_keyed as (

    select
        {{ vault_hash(['order_id']) }} as order_hk,
        order_id,
        loaded_at as load_at,
        'erp.lineitem' as record_source
    from order_lines

),

shipment_events_keyed as (

    select
        {{ vault_hash(['order_id']) }} as order_hk,
        order_id,
        loaded_at as load_at,
        'carrier.shipment_events' as record_source
    from shipment_events

),

{{ vault_hub(
    ['orders_keyed', 'order_lines_keyed', 'shipment_events_keyed'],
    'order_hk',
    ['order_id'],
) }}

select * from final
