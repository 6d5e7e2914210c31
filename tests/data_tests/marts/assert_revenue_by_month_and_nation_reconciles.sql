-- Revenue (TPC-H's extendedprice * (1 - discount)) by order month and
-- customer nation, computed straight from the raw ERP tables with plain SQL,
-- equals the same answer from the star schema. Returns every group that
-- differs, or that exists on one side only.
with lineitem as (

    select * from {{ source('erp', 'lineitem') }}

),

orders as (

    select * from {{ source('erp', 'orders') }}

),

customer as (

    select * from {{ source('erp', 'customer') }}

),

nation as (

    select * from {{ source('erp', 'nation') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

geography as (

    select * from {{ ref('dim_geography') }}

),

from_erp as (

    select
        substr(
            cast(cast(orders.o_orderdate as date) as {{ type_text() }}), 1, 7
        ) as calendar_year_month,
        trim(nation.n_name) as nation_name,
        sum(
            cast(lineitem.l_extendedprice as decimal(15, 2))
            * (1 - cast(lineitem.l_discount as decimal(15, 2)))
        ) as revenue
    from lineitem
    inner join orders on lineitem.l_orderkey = orders.o_orderkey
    inner join customer on orders.o_custkey = customer.c_custkey
    inner join nation on customer.c_nationkey = nation.n_nationkey
    group by 1, 2

),

from_marts as (

    select
        dates.calendar_year_month,
        geography.nation_name,
        sum(order_lines.net_amount) as revenue
    from order_lines
    inner join dates on order_lines.order_date = dates.date_day
    inner join geography
        on order_lines.customer_geography_sk = geography.geography_sk
    group by 1, 2

),

compared as (

    select
        from_erp.revenue as erp_revenue,
        from_marts.revenue as mart_revenue,
        coalesce(from_erp.calendar_year_month, from_marts.calendar_year_month)
            as calendar_year_month,
        coalesce(from_erp.nation_name, from_marts.nation_name) as nation_name
    from from_erp
    full outer join from_marts
        on
            from_erp.calendar_year_month = from_marts.calendar_year_month
            and from_erp.nation_name = from_marts.nation_name

)

select *
from compared
where erp_revenue is null or mart_revenue is null or erp_revenue <> mart_revenue
