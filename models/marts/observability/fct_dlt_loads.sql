with loads as (

    select * from {{ ref('int_dlt_loads_summarised') }}

),

final as (

    select
        load_run_id,
        source_name,
        pipeline_name,
        dataset_name,
        dlt_load_id,
        dlt_load_ids,
        package_state,
        load_status,
        started_at,
        finished_at,
        load_date,
        cast(duration_seconds as decimal(18, 3)) as duration_seconds,
        rows_loaded,
        rows_quarantined,
        tables_written,
        rows_repaired,
        error_message

    from loads

)

select * from final
