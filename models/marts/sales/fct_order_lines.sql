{{
    config(
        materialized='incremental',
        unique_key=['order_id', 'line_number'],
        incremental_strategy=upsert_strategy(),
        on_schema_change='fail',
        post_hook=[
            "{{ delete_rows_missing_from(
                ref('int_order_lines_priced'), ['order_id', 'line_number']
            ) }}",
        ],
    )
}}

with order_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

parts as (

    select * from {{ ref('dim_parts') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers') }}

),

offer_snapshots as (

    select * from {{ ref('snap_erp__part_suppliers') }}

),

-- When the fact was last loaded: rows loaded since are (re)built, and those
-- of that newest load too while a resumed package may still add rows under
-- its load id (`since` is > or >=, see incremental_load_operator). On a
-- full build that is the start of history.
{%- set since = incremental_load_operator('erp') %}
last_run as (

    {% if is_incremental() %}
        select coalesce(max(loaded_at), {{ scd2_low_date() }}) as loaded_at
        from {{ this }}
    {% else %}
        select {{ scd2_low_date() }} as loaded_at
    {% endif %}

),

-- Lines whose as-of version changed: a dimension version loaded since the
-- last run that is valid from before the line's order date (a late arrival).
late_customer_versions as (

    select
        customers.customer_id,
        min(customers.valid_from) as valid_from
    from customers
    inner join last_run on customers.loaded_at {{ since }} last_run.loaded_at
    group by customers.customer_id

),

late_part_versions as (

    select
        parts.part_id,
        min(parts.valid_from) as valid_from
    from parts
    inner join last_run on parts.loaded_at {{ since }} last_run.loaded_at
    group by parts.part_id

),

late_supplier_versions as (

    select
        suppliers.supplier_id,
        min(suppliers.valid_from) as valid_from
    from suppliers
    inner join last_run on suppliers.loaded_at {{ since }} last_run.loaded_at
    group by suppliers.supplier_id

),

late_offer_versions as (

    select
        offer_snapshots.part_id,
        offer_snapshots.supplier_id,
        min(offer_snapshots.dbt_valid_from) as valid_from
    from offer_snapshots
    inner join last_run
        on offer_snapshots.loaded_at {{ since }} last_run.loaded_at
    group by offer_snapshots.part_id, offer_snapshots.supplier_id

),

batch as (

    -- Each line joins the dimension versions in force when its order day
    -- began (start of order_date, UTC).
    select
        order_lines.order_id,
        order_lines.line_number,
        order_lines.customer_id,
        order_lines.part_id,
        order_lines.supplier_id,
        order_lines.order_date,
        order_lines.ship_date,
        order_lines.commit_date,
        order_lines.receipt_date,
        order_lines.order_status,
        order_lines.order_priority,
        order_lines.clerk_id,
        order_lines.ship_priority,
        order_lines.ship_mode,
        order_lines.ship_instructions,
        order_lines.return_flag,
        order_lines.line_status,
        order_lines.quantity,
        order_lines.discount_rate,
        order_lines.tax_rate,
        order_lines.gross_amount,
        order_lines.discount_amount,
        order_lines.net_amount,
        order_lines.tax_amount,
        order_lines.total_amount,
        order_lines.loaded_at,
        cast(order_lines.order_date as timestamp) as order_day_started_at
    from order_lines
    cross join last_run
    where
        order_lines.loaded_at {{ since }} last_run.loaded_at
        or exists (
            select late.customer_id from late_customer_versions as late
            where
                late.customer_id = order_lines.customer_id
                and late.valid_from <= cast(order_lines.order_date as timestamp)
        )
        or exists (
            select late.part_id from late_part_versions as late
            where
                late.part_id = order_lines.part_id
                and late.valid_from <= cast(order_lines.order_date as timestamp)
        )
        or exists (
            select late.supplier_id from late_supplier_versions as late
            where
                late.supplier_id = order_lines.supplier_id
                and late.valid_from <= cast(order_lines.order_date as timestamp)
        )
        or exists (
            select late.part_id from late_offer_versions as late
            where
                late.part_id = order_lines.part_id
                and late.supplier_id = order_lines.supplier_id
                and late.valid_from <= cast(order_lines.order_date as timestamp)
        )

),

offer_versions as (

    select
        part_id,
        supplier_id,
        {{ scd2_valid_from(['part_id', 'supplier_id']) }} as valid_from,
        dbt_valid_to as valid_to,
        supply_cost
    from offer_snapshots

),

joined as (

    select
        {{ surrogate_key(['batch.order_id', 'batch.line_number']) }}
            as order_line_sk,
        batch.order_id,
        batch.line_number,
        coalesce(customers.customer_sk, {{ unknown_member_sk() }})
            as customer_sk,
        coalesce(customers.geography_sk, {{ unknown_member_sk() }})
            as customer_geography_sk,
        coalesce(parts.part_sk, {{ unknown_member_sk() }}) as part_sk,
        coalesce(suppliers.supplier_sk, {{ unknown_member_sk() }})
            as supplier_sk,
        coalesce(suppliers.geography_sk, {{ unknown_member_sk() }})
            as supplier_geography_sk,
        {{ surrogate_key([
            'batch.order_priority',
            'batch.order_status',
            'batch.ship_mode',
            'batch.ship_instructions',
        ]) }} as order_flags_sk,
        batch.customer_id,
        batch.part_id,
        batch.supplier_id,
        batch.order_date,
        batch.ship_date,
        batch.commit_date,
        batch.receipt_date,
        batch.order_status,
        batch.order_priority,
        batch.clerk_id,
        batch.ship_priority,
        batch.ship_mode,
        batch.ship_instructions,
        batch.return_flag,
        batch.line_status,
        batch.quantity,
        batch.discount_rate,
        batch.tax_rate,
        batch.gross_amount,
        batch.discount_amount,
        batch.net_amount,
        batch.tax_amount,
        batch.total_amount,
        cast(
            batch.quantity * offer_versions.supply_cost as decimal(18, 4)
        ) as supply_cost_amount,
        batch.loaded_at

    from batch
    left join customers
        on
            batch.customer_id = customers.customer_id
            and batch.order_day_started_at >= customers.valid_from
            and batch.order_day_started_at < customers.valid_to
    left join parts
        on
            batch.part_id = parts.part_id
            and batch.order_day_started_at >= parts.valid_from
            and batch.order_day_started_at < parts.valid_to
    left join suppliers
        on
            batch.supplier_id = suppliers.supplier_id
            and batch.order_day_started_at >= suppliers.valid_from
            and batch.order_day_started_at < suppliers.valid_to
    left join offer_versions
        on
            batch.part_id = offer_versions.part_id
            and batch.supplier_id = offer_versions.supplier_id
            and batch.order_day_started_at >= offer_versions.valid_from
            and batch.order_day_started_at < offer_versions.valid_to

)

select * from joined
