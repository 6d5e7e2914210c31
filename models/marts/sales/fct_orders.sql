with order_lines as (

    select * from {{ ref('fct_order_lines') }}

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
        {{ surrogate_key(['order_id']) }} as order_sk,
        order_id,
        customer_sk,
        customer_geography_sk,
        customer_id,
        order_date,
        order_status,
        order_priority,
        clerk_id,
        ship_priority,
        cast(line_count as integer) as line_count,
        cast(quantity as decimal(18, 2)) as quantity,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        cast(discount_amount as decimal(18, 4)) as discount_amount,
        cast(net_amount as decimal(18, 4)) as net_amount,
        cast(tax_amount as decimal(18, 6)) as tax_amount,
        cast(total_amount as decimal(18, 6)) as total_amount,
        cast(supply_cost_amount as decimal(18, 4)) as supply_cost_amount,
        loaded_at
    from orders

)

select * from final
