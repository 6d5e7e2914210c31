with node_results as (

    select * from {{ ref('int_dbt_node_results_classified') }}

),

final as (

    select
        invocation_id,
        node_id,
        resource_type,
        node_name,
        result_status,
        dbt_command,
        started_at,
        completed_at,
        result_date,
        cast(execution_seconds as decimal(18, 3)) as execution_seconds,
        rows_affected,
        failing_rows,
        test_name,
        test_severity,
        tested_column_name,
        table_label,
        source_name,
        quality_dimension,
        is_passed,
        max_loaded_at,
        cast(freshness_age_seconds as decimal(18, 3))
            as freshness_age_seconds,
        cast(freshness_sla_seconds as decimal(18, 3))
            as freshness_sla_seconds

    from node_results

)

select * from final
