{#- Junk dimension: every combination of the order's low-cardinality flags
    seen in the ERP (the product of the distinct values of each, a few
    hundred rows), keyed by a hash of the four values so fct_order_lines
    computes the same key without a lookup. -#}
with order_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

order_priorities as (

    select distinct order_priority from order_lines

),

order_statuses as (

    select distinct order_status from order_lines

),

ship_modes as (

    select distinct ship_mode from order_lines

),

ship_instructions as (

    select distinct ship_instructions from order_lines

),

combinations as (

    select
        order_priorities.order_priority,
        order_statuses.order_status,
        ship_modes.ship_mode,
        ship_instructions.ship_instructions
    from order_priorities
    cross join order_statuses
    cross join ship_modes
    cross join ship_instructions

),

final as (

    select
        {{ surrogate_key([
            'order_priority',
            'order_status',
            'ship_mode',
            'ship_instructions',
        ]) }} as order_flags_sk,
        order_priority,
        order_status,
        ship_mode,
        ship_instructions
    from combinations

)

select * from final
