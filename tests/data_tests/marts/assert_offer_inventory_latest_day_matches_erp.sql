-- On its latest day, fct_offer_inventory_daily holds exactly the offers the
-- ERP holds now (staging, the last load), with the same available quantity
-- and supply cost, and every row's stock value is quantity times cost.
-- Returns each offer that differs, is missing on one side, or whose stock
-- value is not the product.
with inventory as (

    select * from {{ ref('fct_offer_inventory_daily') }}

),

erp_offers as (

    select * from {{ ref('stg_erp__part_suppliers') }}

),

last_snapshot as (

    select max(snapshot_date) as snapshot_date
    from inventory

),

latest_day as (

    select
        inventory.part_id,
        inventory.supplier_id,
        inventory.available_quantity,
        inventory.supply_cost
    from inventory
    inner join last_snapshot
        on inventory.snapshot_date = last_snapshot.snapshot_date

),

mismatched as (

    select
        coalesce(latest_day.part_id, erp_offers.part_id) as part_id,
        coalesce(latest_day.supplier_id, erp_offers.supplier_id)
            as supplier_id,
        'latest day differs from the ERP' as problem
    from latest_day
    full outer join erp_offers
        on
            latest_day.part_id = erp_offers.part_id
            and latest_day.supplier_id = erp_offers.supplier_id
    where
        latest_day.part_id is null
        or erp_offers.part_id is null
        or latest_day.available_quantity <> erp_offers.available_quantity
        or latest_day.supply_cost <> erp_offers.supply_cost

    union all

    select
        part_id,
        supplier_id,
        'stock value is not quantity times cost' as problem
    from inventory
    where stock_value_amount <> available_quantity * supply_cost

)

select * from mismatched
