{#- Periodic snapshot: every live part-supplier offer on every day the
    warehouse has seen, in the state it had at the end of that day (UTC),
    with the part and supplier versions in force at the same instant. -#}
with offers as (

    select * from {{ ref('dim_offers') }}

),

parts as (

    select * from {{ ref('dim_parts') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

-- The days the warehouse has seen: from the ERP day of the first offer
-- snapshot to the latest ERP business day loaded (the ERP takes orders
-- every business day, so that is the latest order date, unless an offer
-- was recorded later). Not up to the snapshots' 9999-12-31 high date.
latest_order_day as (

    select max(order_date) as order_date
    from orders

),

bounds as (

    select
        min(cast(offers.recorded_at as date)) as first_date,
        greatest(
            max(cast(offers.recorded_at as date)),
            max(latest_order_day.order_date)
        ) as last_date
    from offers
    cross join latest_order_day

),

days as (

    select
        dates.date_day as snapshot_date,
        cast(dates.date_day as timestamp) + interval '1 day' as day_end_at
    from dates
    inner join bounds
        on dates.date_day between bounds.first_date and bounds.last_date

),

-- The offer version in force at the end of each day; a deleted offer has
-- no row from the day of its deletion on.
offer_days as (

    select
        days.snapshot_date,
        days.day_end_at,
        offers.offer_sk,
        offers.part_id,
        offers.supplier_id,
        offers.available_quantity,
        offers.supply_cost,
        offers.stock_value_amount,
        offers.loaded_at
    from days
    inner join offers
        on
            days.day_end_at > offers.valid_from
            and days.day_end_at <= offers.valid_to
    where not offers.is_deleted

),

final as (

    select
        offer_days.snapshot_date,
        offer_days.offer_sk,
        coalesce(parts.part_sk, {{ unknown_member_sk() }}) as part_sk,
        coalesce(suppliers.supplier_sk, {{ unknown_member_sk() }})
            as supplier_sk,
        coalesce(suppliers.geography_sk, {{ unknown_member_sk() }})
            as supplier_geography_sk,
        offer_days.part_id,
        offer_days.supplier_id,
        offer_days.available_quantity,
        offer_days.supply_cost,
        offer_days.stock_value_amount,
        offer_days.loaded_at
    from offer_days
    left join parts
        on
            offer_days.part_id = parts.part_id
            and offer_days.day_end_at > parts.valid_from
            and offer_days.day_end_at <= parts.valid_to
    left join suppliers
        on
            offer_days.supplier_id = suppliers.supplier_id
            and offer_days.day_end_at > suppliers.valid_from
            and offer_days.day_end_at <= suppliers.valid_to

)

select * from final
