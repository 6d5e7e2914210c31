-- A carrier's shipment event for an order line: a transactional link
-- keyed by the carrier's event id, pointing at the line
-- (link_order_line) and its order. Events of cancelled lines may name a
-- line the vault never saw (see the carrier's orphans).
with shipment_events as (

    select * from {{ ref('stg_carrier__shipment_events') }}

),

shipment_events_keyed as (

    select
        {{ vault_hash(['event_id']) }} as shipment_event_hk,
        {{ vault_hash(['order_id', 'line_number']) }} as order_line_hk,
        {{ vault_hash(['order_id']) }} as order_hk,
        event_id,
        loaded_at as load_at,
        'carrier.shipment_events' as record_source
    from shipment_events

),

{{ vault_link(
    ['shipment_events_keyed'],
    'shipment_event_hk',
    ['order_line_hk', 'order_hk'],
    ['event_id'],
) }}

select * from final
