with source as (

    select * from {{ source('ops', 'dlt_loads') }}

),

renamed as (

    select
        load_run_id,
        source_name,
        pipeline_name,
        dataset_name,
        load_id as dlt_load_id,
        load_ids as dlt_load_ids,
        package_state,
        status as load_status,
        cast(started_at as timestamp) as started_at,
        cast(finished_at as timestamp) as finished_at,
        cast(duration_seconds as {{ type_double() }}) as duration_seconds,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        error_message

    from source

)

select * from renamed
