-- A carrier shipment event's details (on link_shipment_event_order_line).
-- Events do not change, so each has one row. Who signed (a person's name,
-- masked) is apart, in sat_shipment_event__carrier_pii.
with shipment_events as (

    select * from {{ ref('stg_carrier__shipment_events') }}

),

shipment_events_keyed as (

    select
        {{ vault_hash(['event_id']) }} as shipment_event_hk,
        tracking_number,
        carrier_service,
        event_type,
        event_at,
        event_location,
        loaded_at as load_at,
        'carrier.shipment_events' as record_source
    from shipment_events

),

{{ vault_sat(
    'shipment_events_keyed',
    'shipment_event_hk',
    'shipment_event_hashdiff',
    [
        'tracking_number',
        'carrier_service',
        'event_type',
        'event_at',
        'event_location',
    ],
) }}

select * from final
