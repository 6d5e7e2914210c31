-- fct_orders.stated_total_amount (the ERP's o_totalprice) differs from
-- total_amount (the exact sum of the lines) only by how the ERP rounds,
-- and the two rules are those of the data generators:
--   * day-0 orders come from TPC-H's dbgen (tpchgen-cli), which adds up in
--     whole cents and truncates per line, twice:
--     floor(floor(price_cents * (100 - discount%) / 100) * (100 + tax%) / 100)
--     (each line loses under 2.08 cents, so an order of at most 7 lines
--     states up to about 0.15 less than its exact total);
--   * orders taken by the simulated ERP (source_systems/erp/simulate.py) add
--     the exact line totals and round the sum once to cents, so they differ
--     by at most half a cent.
-- Returns every order that follows neither rule.
with orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

truncated_lines as (

    select
        order_id,
        floor(
            floor(
                gross_amount * 100 * (100 - discount_rate * 100) / 100
            )
            * (100 + tax_rate * 100) / 100
        ) as line_total_cents
    from order_lines

),

truncated_orders as (

    select
        order_id,
        sum(line_total_cents) / 100 as truncated_total_amount
    from truncated_lines
    group by order_id

),

unexplained as (

    select
        orders.order_id,
        orders.total_amount,
        orders.stated_total_amount,
        orders.stated_total_difference,
        truncated_orders.truncated_total_amount
    from orders
    left join truncated_orders
        on orders.order_id = truncated_orders.order_id
    where
        orders.stated_total_difference
        <> orders.total_amount - orders.stated_total_amount
        or not (
            orders.stated_total_amount = truncated_orders.truncated_total_amount
            or abs(orders.stated_total_difference) <= 0.005
        )

)

select * from unexplained
