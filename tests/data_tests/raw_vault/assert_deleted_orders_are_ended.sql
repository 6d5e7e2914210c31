-- Cancelled orders are ended, not lost: every order the record-tracking
-- satellite saw in the ERP and that the ERP no longer has must have a
-- latest row with is_deleted, and every order the ERP has must not.
-- Returns the orders whose latest status disagrees with staging.
with hub_order as (

    select * from {{ ref('hub_order') }}

),

tracking as (

    select * from {{ ref('sat_order__erp_tracking') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

tracking_ranked as (

    select
        order_hk,
        is_deleted,
        row_number() over (
            partition by order_hk
            order by load_at desc
        ) as newest_rank
    from tracking
    where order_hk <> {{ vault_hash([], 'ghost') }}

),

final as (

    select
        hub_order.order_id,
        tracking_ranked.is_deleted,
        orders.order_id is not null as is_in_erp
    from tracking_ranked
    inner join hub_order
        on tracking_ranked.order_hk = hub_order.order_hk
    left join orders
        on hub_order.order_id = orders.order_id
    where
        tracking_ranked.newest_rank = 1
        and tracking_ranked.is_deleted = (orders.order_id is not null)

)

select * from final
