with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

shipment_events as (

    select * from {{ ref('fct_shipment_events') }}

),

tracked_milestones as (

    select
        order_line_sk,
        min(
            case when event_type = 'picked_up' then event_at end
        ) as picked_up_at,
        min(
            case when event_type = 'delivered' then event_at end
        ) as delivered_at,
        min(
            case when event_type = 'returned' then event_at end
        ) as returned_at,
        count(*) as shipment_event_count
    from shipment_events
    group by order_line_sk

),

milestones as (

    select
        order_lines.order_line_sk,
        order_lines.order_id,
        order_lines.line_number,
        order_lines.customer_sk,
        order_lines.part_sk,
        order_lines.supplier_sk,
        order_lines.order_date,
        order_lines.commit_date,
        tracked_milestones.picked_up_at,
        tracked_milestones.delivered_at,
        tracked_milestones.returned_at,
        case
            when order_lines.line_status = 'F' then order_lines.ship_date
        end as shipped_date,
        case
            when order_lines.return_flag in ('R', 'A')
                then order_lines.receipt_date
        end as delivered_date,
        order_lines.return_flag = 'R' as is_returned,
        coalesce(tracked_milestones.shipment_event_count, 0)
            as shipment_event_count
    from order_lines
    left join tracked_milestones
        on order_lines.order_line_sk = tracked_milestones.order_line_sk

),

final as (

    select
        order_line_sk,
        order_id,
        line_number,
        customer_sk,
        part_sk,
        supplier_sk,
        order_date,
        commit_date,
        shipped_date,
        delivered_date,
        picked_up_at,
        delivered_at,
        returned_at,
        is_returned,
        cast(shipped_date - order_date as integer) as days_to_ship,
        cast(delivered_date - shipped_date as integer) as days_in_transit,
        cast(delivered_date - order_date as integer) as days_to_deliver,
        cast(delivered_date - commit_date as integer) as days_late,
        cast(shipment_event_count as integer) as shipment_event_count,
        case
            when is_returned then 'returned'
            when delivered_date is not null then 'delivered'
            when shipped_date is not null then 'shipped'
            else 'ordered'
        end as fulfilment_stage,
        delivered_date > commit_date as is_delivered_late
    from milestones

)

select * from final
