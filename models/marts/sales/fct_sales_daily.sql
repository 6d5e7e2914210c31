{#- Daily sales: the order lines summed per order day, one row for every day
    from the first order day to the latest one loaded (days without orders
    hold zeros). The input of the cumulative metric revenue_to_date: its
    join over the time spine reads one row per day, not every line. -#}
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

daily_lines as (

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
    from daily_lines

),

days as (

    select dates.date_day as order_date
    from dates
    inner join bounds
        on dates.date_day between bounds.first_date and bounds.last_date

),

final as (

    select
        days.order_date,
        cast(coalesce(daily_lines.order_count, 0) as integer) as order_count,
        cast(coalesce(daily_lines.line_count, 0) as integer) as line_count,
        cast(coalesce(daily_lines.quantity, 0) as decimal(18, 2)) as quantity,
        cast(
            coalesce(daily_lines.gross_amount, 0) as decimal(18, 2)
        ) as gross_amount,
        cast(
            coalesce(daily_lines.net_amount, 0) as decimal(18, 4)
        ) as net_amount,
        cast(
            coalesce(daily_lines.supply_cost_amount, 0) as decimal(18, 4)
        ) as supply_cost_amount
    from days
    left join daily_lines
        on days.order_date = daily_lines.order_date

)

select * from final
