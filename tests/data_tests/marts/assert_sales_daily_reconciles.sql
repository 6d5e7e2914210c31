-- The daily sales pre-aggregate agrees with the order lines it sums: every
-- day from the first to the last order day has one row, and each day's
-- counts and amounts equal the same sums over fct_order_lines (zero on a day
-- without lines). Returns every day that differs or is missing.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

sales_daily as (

    select * from {{ ref('fct_sales_daily') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

from_lines as (

    select
        order_date,
        count(*) as line_count,
        count(distinct order_id) as order_count,
        sum(quantity) as quantity,
        sum(gross_amount) as gross_amount,
        sum(net_amount) as net_amount,
        sum(supply_cost_amount) as supply_cost_amount
    from order_lines
    group by order_date

),

bounds as (

    select
        min(order_date) as first_date,
        max(order_date) as last_date
    from order_lines

),

expected_days as (

    select dates.date_day as order_date
    from dates
    inner join bounds
        on dates.date_day between bounds.first_date and bounds.last_date

),

expected as (

    select
        expected_days.order_date,
        coalesce(from_lines.order_count, 0) as order_count,
        coalesce(from_lines.line_count, 0) as line_count,
        coalesce(from_lines.quantity, 0) as quantity,
        coalesce(from_lines.gross_amount, 0) as gross_amount,
        coalesce(from_lines.net_amount, 0) as net_amount,
        coalesce(from_lines.supply_cost_amount, 0) as supply_cost_amount
    from expected_days
    left join from_lines
        on expected_days.order_date = from_lines.order_date

),

final as (

    select
        expected.net_amount as expected_net_amount,
        sales_daily.net_amount as actual_net_amount,
        coalesce(expected.order_date, sales_daily.order_date) as order_date
    from expected
    full outer join sales_daily
        on expected.order_date = sales_daily.order_date
    where
        expected.order_date is null
        or sales_daily.order_date is null
        or expected.order_count != sales_daily.order_count
        or expected.line_count != sales_daily.line_count
        or expected.quantity != sales_daily.quantity
        or expected.gross_amount != sales_daily.gross_amount
        or expected.net_amount != sales_daily.net_amount
        or expected.supply_cost_amount != sales_daily.supply_cost_amount

)

select * from final
