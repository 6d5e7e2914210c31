-- TPC-H Q1, the pricing summary report (lines shipped by 1998-09-02, by
-- return flag and line status), computed straight from the raw ERP lineitem
-- table with plain SQL, equals the same report from fct_order_lines. Sums
-- are exact decimals and must be equal; averages within 1e-9. Returns every
-- group that differs or exists on one side only.
with lineitem as (

    select * from {{ source('erp', 'lineitem') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

typed_lineitem as (

    select
        cast(l_quantity as decimal(15, 2)) as quantity,
        cast(l_extendedprice as decimal(15, 2)) as extended_price,
        cast(l_discount as decimal(15, 2)) as discount,
        cast(l_tax as decimal(15, 2)) as tax,
        trim(l_returnflag) as return_flag,
        trim(l_linestatus) as line_status
    from lineitem
    where cast(l_shipdate as date) <= cast('1998-09-02' as date)

),

from_erp as (

    select
        return_flag,
        line_status,
        sum(quantity) as sum_quantity,
        sum(extended_price) as sum_base_price,
        sum(extended_price * (1 - discount)) as sum_discounted_price,
        sum(extended_price * (1 - discount) * (1 + tax)) as sum_charge,
        avg(quantity) as average_quantity,
        avg(discount) as average_discount,
        count(*) as line_count
    from typed_lineitem
    group by 1, 2

),

from_marts as (

    select
        return_flag,
        line_status,
        sum(quantity) as sum_quantity,
        sum(gross_amount) as sum_base_price,
        sum(net_amount) as sum_discounted_price,
        sum(total_amount) as sum_charge,
        avg(quantity) as average_quantity,
        avg(discount_rate) as average_discount,
        count(*) as line_count
    from order_lines
    where ship_date <= cast('1998-09-02' as date)
    group by 1, 2

),

compared as (

    select
        from_erp.return_flag as erp_return_flag,
        from_marts.return_flag as mart_return_flag,
        from_erp.line_status as erp_line_status,
        from_marts.line_status as mart_line_status,
        from_erp.sum_quantity <> from_marts.sum_quantity
        or from_erp.sum_base_price <> from_marts.sum_base_price
        or from_erp.sum_discounted_price <> from_marts.sum_discounted_price
        or from_erp.sum_charge <> from_marts.sum_charge
        or from_erp.line_count <> from_marts.line_count
        or abs(from_erp.average_quantity - from_marts.average_quantity) > 1e-9
        or abs(from_erp.average_discount - from_marts.average_discount) > 1e-9
            as is_different
    from from_erp
    full outer join from_marts
        on
            from_erp.return_flag = from_marts.return_flag
            and from_erp.line_status = from_marts.line_status

)

select *
from compared
where
    erp_return_flag is null
    or mart_return_flag is null
    or is_different
