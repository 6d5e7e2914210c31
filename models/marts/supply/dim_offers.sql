{#- Part-supplier offers, SCD2 from snap_erp__part_suppliers: one row per
    version of an offer's terms (supply cost, available quantity). -#}
with offer_snapshots as (

    select * from {{ ref('snap_erp__part_suppliers') }}

),

versions as (

    select
        part_id,
        supplier_id,
        {{ scd2_valid_from(['part_id', 'supplier_id']) }} as valid_from,
        dbt_valid_to as valid_to,
        dbt_is_deleted = 'True' as is_deleted,
        available_quantity,
        supply_cost,
        dbt_updated_at as recorded_at,
        loaded_at
    from offer_snapshots

),

final as (

    select
        {{ surrogate_key(['part_id', 'supplier_id', 'valid_from']) }}
            as offer_sk,
        part_id,
        supplier_id,
        valid_from,
        valid_to,
        valid_to = {{ scd2_high_date() }} as is_current,
        is_deleted,
        available_quantity,
        supply_cost,
        cast(
            available_quantity * supply_cost as decimal(18, 2)
        ) as stock_value_amount,
        recorded_at,
        loaded_at
    from versions

)

select * from final
