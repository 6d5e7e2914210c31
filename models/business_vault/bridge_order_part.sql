-- From orders to their lines to the parts (and suppliers) on them, in one
-- row per order line the vault holds, with the business keys and whether
-- the line still exists in the ERP (a cancelled order's lines have ended).
with link_order_line as (

    select * from {{ ref('link_order_line') }}

),

hub_order as (

    select * from {{ ref('hub_order') }}

),

hub_part as (

    select * from {{ ref('hub_part') }}

),

sat_order_line__erp_tracking as (

    select * from {{ ref('sat_order_line__erp_tracking') }}

),

line_status_ranked as (

    select
        order_line_hk,
        is_deleted,
        row_number() over (
            partition by order_line_hk
            order by load_at desc
        ) as newest_rank
    from sat_order_line__erp_tracking

),

line_status as (

    select
        order_line_hk,
        is_deleted
    from line_status_ranked
    where newest_rank = 1

),

final as (

    select
        link_order_line.order_hk,
        link_order_line.order_line_hk,
        link_order_line.part_hk,
        link_order_line.supplier_hk,
        hub_order.order_id,
        link_order_line.line_number,
        hub_part.part_id,
        coalesce(not line_status.is_deleted, false) as is_active
    from link_order_line
    inner join hub_order
        on link_order_line.order_hk = hub_order.order_hk
    inner join hub_part
        on link_order_line.part_hk = hub_part.part_hk
    left join line_status
        on link_order_line.order_line_hk = line_status.order_line_hk
    where link_order_line.order_line_hk <> {{ vault_hash([], 'ghost') }}

)

select * from final
