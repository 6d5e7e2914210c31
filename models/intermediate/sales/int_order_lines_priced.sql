with order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

priced as (

    select
        order_lines.order_id,
        order_lines.line_number,
        orders.customer_id,
        order_lines.part_id,
        order_lines.supplier_id,
        orders.order_date,
        orders.order_status,
        orders.order_priority,
        orders.clerk_id,
        orders.ship_priority,
        orders.total_price as order_total_price,
        order_lines.quantity,
        order_lines.discount_rate,
        order_lines.tax_rate,
        order_lines.return_flag,
        order_lines.line_status,
        order_lines.ship_date,
        order_lines.commit_date,
        order_lines.receipt_date,
        order_lines.ship_instructions,
        order_lines.ship_mode,
        cast(order_lines.extended_price as decimal(15, 2)) as gross_amount,
        cast(
            order_lines.extended_price * order_lines.discount_rate
            as decimal(18, 4)
        ) as discount_amount,
        cast(
            order_lines.extended_price * (1 - order_lines.discount_rate)
            as decimal(18, 4)
        ) as net_amount,
        cast(
            order_lines.extended_price
            * (1 - order_lines.discount_rate)
            * order_lines.tax_rate
            as decimal(18, 6)
        ) as tax_amount,
        cast(
            order_lines.extended_price
            * (1 - order_lines.discount_rate)
            * (1 + order_lines.tax_rate)
            as decimal(18, 6)
        ) as total_amount,
        greatest(order_lines.loaded_at, orders.loaded_at) as loaded_at

    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id

)

select * from priced
