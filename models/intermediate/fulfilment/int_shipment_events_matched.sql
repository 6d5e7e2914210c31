with shipment_events as (

    select * from {{ ref('stg_carrier__shipment_events') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

matched as (

    select
        shipment_events.event_id,
        shipment_events.order_id,
        shipment_events.line_number,
        shipment_events.event_type,
        shipment_events.event_at,
        shipment_events.event_date,
        shipment_events.tracking_number,
        shipment_events.carrier_service,
        shipment_events.event_location,
        shipment_events.signed_by_hash,
        shipment_events.loaded_at

    from shipment_events
    inner join order_lines
        on
            shipment_events.order_id = order_lines.order_id
            and shipment_events.line_number = order_lines.line_number

)

select * from matched
