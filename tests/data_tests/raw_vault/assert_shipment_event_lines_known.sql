-- Every shipment event names an order line the vault holds, except the
-- `exception` events of lines cancelled before the vault ever saw them
-- (the carrier reports those after the ERP deleted the line).
with events as (

    select * from {{ ref('link_shipment_event_order_line') }}

),

event_details as (

    select * from {{ ref('sat_shipment_event__carrier_details') }}

),

order_lines as (

    select * from {{ ref('link_order_line') }}

),

final as (

    select
        events.event_id,
        event_details.event_type
    from events
    inner join event_details
        on events.shipment_event_hk = event_details.shipment_event_hk
    left join order_lines
        on events.order_line_hk = order_lines.order_line_hk
    where
        order_lines.order_line_hk is null
        and event_details.event_type <> 'exception'

)

select * from final
