with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

priced_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

-- The ERP's own order total (o_totalprice), one value per order.
stated_totals as (

    select distinct
        order_id,
        order_total_price as stated_total_amount
    from priced_lines

),

orders as (

    select
        order_id,
        customer_sk,
        customer_geography_sk,
        customer_id,
        order_date,
        order_status,
        order_priority,
        clerk_id,
        ship_priority,
        count(*) as line_count,
        sum(quantity) as quantity,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount,
        sum(tax_amount) as tax_amount,
        sum(total_amount) as total_amount,
        sum(supply_cost_amount) as supply_cost_amount,
        max(loaded_at) as loaded_at
    from order_lines
    group by
        order_id,
        customer_sk,
        customer_geography_sk,
        customer_id,
        order_date,
        order_status,
        order_priority,
        clerk_id,
        ship_priority

),

final as (

    select
        {{ surrogate_key(['orders.order_id']) }} as order_sk,
        orders.order_id,
        orders.customer_sk,
        orders.customer_geography_sk,
        orders.customer_id,
        orders.order_date,
        orders.order_status,
        orders.order_priority,
        orders.clerk_id,
        orders.ship_priority,
        cast(orders.line_count as integer) as line_count,
        cast(orders.quantity as decimal(18, 2)) as quantity,
        cast(orders.gross_amount as decimal(18, 2)) as gross_amount,
        cast(orders.discount_amount as decimal(18, 4)) as discount_amount,
        cast(orders.net_amount as decimal(18, 4)) as net_amount,
        cast(orders.tax_amount as decimal(18, 6)) as tax_amount,
        cast(orders.total_amount as decimal(18, 6)) as total_amount,
        cast(orders.supply_cost_amount as decimal(18, 4)) as supply_cost_amount,
        cast(
            stated_totals.stated_total_amount as decimal(15, 2)
        ) as stated_total_amount,
        cast(
            orders.total_amount - stated_totals.stated_total_amount
            as decimal(18, 6)
        ) as stated_total_difference,
        orders.loaded_at
    from orders
    inner join stated_totals
        on orders.order_id = stated_totals.order_id

)

select * from final
