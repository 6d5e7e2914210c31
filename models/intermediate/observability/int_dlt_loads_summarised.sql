with loads as (

    select * from {{ ref('stg_ops__dlt_loads') }}

),

load_tables as (

    select * from {{ ref('stg_ops__dlt_load_tables') }}

),

counted as (

    select
        load_run_id,
        count(*) as tables_written,
        sum(coalesce(rows_repaired, 0)) as rows_repaired

    from load_tables
    where rows_loaded > 0 or rows_repaired > 0
    group by load_run_id

),

summarised as (

    select
        loads.load_run_id,
        loads.source_name,
        loads.pipeline_name,
        loads.dataset_name,
        loads.dlt_load_id,
        loads.dlt_load_ids,
        loads.package_state,
        loads.load_status,
        loads.started_at,
        loads.finished_at,
        loads.duration_seconds,
        loads.rows_loaded,
        loads.rows_quarantined,
        loads.error_message,
        cast(loads.finished_at as date) as load_date,
        cast(coalesce(counted.tables_written, 0) as integer)
            as tables_written,
        cast(coalesce(counted.rows_repaired, 0) as bigint) as rows_repaired

    from loads
    left join counted
        on loads.load_run_id = counted.load_run_id

)

select * from summarised
