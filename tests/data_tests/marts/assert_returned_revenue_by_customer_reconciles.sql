-- Revenue lost to returns per customer (the measure of TPC-H Q10 without
-- its date window), computed straight from the raw ERP tables with plain
-- SQL, equals the same answer from the star schema. Returns every customer
-- whose figures differ or who exists on one side only.
with lineitem as (

    select * from {{ source('erp', 'lineitem') }}

),

orders as (

    select * from {{ source('erp', 'orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

from_erp as (

    select
        cast(orders.o_custkey as bigint) as customer_id,
        sum(
            cast(lineitem.l_extendedprice as decimal(15, 2))
            * (1 - cast(lineitem.l_discount as decimal(15, 2)))
        ) as returned_revenue
    from lineitem
    inner join orders on lineitem.l_orderkey = orders.o_orderkey
    where trim(lineitem.l_returnflag) = 'R'
    group by 1

),

from_marts as (

    select
        customers.customer_id,
        sum(order_lines.net_amount) as returned_revenue
    from order_lines
    inner join customers on order_lines.customer_sk = customers.customer_sk
    where order_lines.return_flag = 'R'
    group by 1

),

compared as (

    select
        from_erp.returned_revenue as erp_returned_revenue,
        from_marts.returned_revenue as mart_returned_revenue,
        coalesce(from_erp.customer_id, from_marts.customer_id) as customer_id
    from from_erp
    full outer join from_marts
        on from_erp.customer_id = from_marts.customer_id

)

select *
from compared
where
    erp_returned_revenue is null
    or mart_returned_revenue is null
    or erp_returned_revenue <> mart_returned_revenue
