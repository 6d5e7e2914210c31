-- An order's status is derived from its lines in the ERP: F when every line
-- is fulfilled, O when every line is open, P (partial) otherwise. Returns
-- each order whose stated status disagrees with its lines.
with orders as (

    select * from {{ ref('stg_erp__orders') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

line_counts as (

    select
        order_id,
        count(*) as line_count,
        sum(case when line_status = 'F' then 1 else 0 end) as fulfilled_count
    from order_lines
    group by order_id

),

derived as (

    select
        orders.order_id,
        orders.order_status,
        line_counts.line_count,
        line_counts.fulfilled_count,
        case
            when line_counts.fulfilled_count = line_counts.line_count
                then 'F'
            when line_counts.fulfilled_count = 0 then 'O'
            else 'P'
        end as derived_status
    from orders
    inner join line_counts
        on orders.order_id = line_counts.order_id

),

final as (

    select * from derived
    where order_status != derived_status

)

select * from final
