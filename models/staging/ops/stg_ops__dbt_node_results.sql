with source as (

    select * from {{ source('ops', 'dbt_node_results') }}

),

renamed as (

    select
        invocation_id,
        unique_id as node_id,
        resource_type,
        node_name,
        status as result_status,
        cast(started_at as timestamp) as started_at,
        cast(completed_at as timestamp) as completed_at,
        cast(execution_seconds as {{ type_double() }}) as execution_seconds,
        cast(rows_affected as bigint) as rows_affected,
        cast(failures as bigint) as failing_rows,
        message as result_message,
        test_name,
        tested_node as tested_node_id,
        column_name as tested_column_name,
        severity as test_severity,
        quality_dimension as declared_quality_dimension,
        cast(max_loaded_at as timestamp) as max_loaded_at,
        cast(freshness_age_seconds as {{ type_double() }})
            as freshness_age_seconds,
        cast(freshness_sla_seconds as {{ type_double() }})
            as freshness_sla_seconds

    from source

)

select * from renamed
