with table_loads as (

    select * from {{ ref('int_dlt_table_loads_joined') }}

),

final as (

    select
        load_run_id,
        source_name,
        table_name,
        table_label,
        dlt_load_id,
        load_status,
        finished_at,
        load_date,
        rows_loaded,
        rows_quarantined,
        reconciliation_units,
        reconciliation_mismatches,
        rows_repaired

    from table_loads

)

select * from final
