-- Who signed for a delivery (a person's name, masked exactly as in staging:
-- salted SHA-256), kept apart from the event's details so access can be
-- limited to it. Only signed events have a row.
with shipment_events as (

    select * from {{ ref('stg_carrier__shipment_events') }}

),

signed_events_keyed as (

    select
        {{ vault_hash(['event_id']) }} as shipment_event_hk,
        signed_by_hash,
        loaded_at as load_at,
        'carrier.shipment_events' as record_source
    from shipment_events
    where signed_by_hash is not null

),

{{ vault_sat(
    'signed_events_keyed',
    'shipment_event_hk',
    'shipment_event_hashdiff',
    [
        'signed_by_hash',
    ],
) }}

select * from final
