with load_tables as (

    select * from {{ ref('stg_ops__dlt_load_tables') }}

),

loads as (

    select * from {{ ref('stg_ops__dlt_loads') }}

),

joined as (

    select
        load_tables.load_run_id,
        load_tables.source_name,
        load_tables.table_name,
        load_tables.table_label,
        load_tables.dlt_load_id,
        loads.load_status,
        loads.started_at,
        loads.finished_at,
        load_tables.rows_loaded,
        load_tables.rows_quarantined,
        load_tables.reconciliation_units,
        load_tables.reconciliation_mismatches,
        load_tables.rows_repaired,
        cast(loads.finished_at as date) as load_date

    from load_tables
    inner join loads
        on load_tables.load_run_id = loads.load_run_id

)

select * from joined
