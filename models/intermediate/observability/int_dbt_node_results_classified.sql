{#-
    Each node result with its invocation, the table it is about and, for
    tests and freshness checks, the quality dimension it measures: the
    test's own meta.quality_dimension, else by test name (see the YAML).
-#}
with node_results as (

    select * from {{ ref('stg_ops__dbt_node_results') }}

),

invocations as (

    select * from {{ ref('stg_ops__dbt_invocations') }}

),

joined as (

    select
        node_results.invocation_id,
        node_results.node_id,
        node_results.resource_type,
        node_results.node_name,
        node_results.result_status,
        invocations.dbt_command,
        invocations.target_name,
        node_results.started_at,
        node_results.completed_at,
        node_results.execution_seconds,
        node_results.rows_affected,
        node_results.failing_rows,
        node_results.result_message,
        node_results.test_name,
        node_results.test_severity,
        node_results.tested_column_name,
        node_results.declared_quality_dimension,
        node_results.max_loaded_at,
        node_results.freshness_age_seconds,
        node_results.freshness_sla_seconds,
        coalesce(
            node_results.completed_at, invocations.ended_at
        ) as result_at,
        coalesce(
            node_results.tested_node_id, node_results.node_id
        ) as subject_node_id

    from node_results
    inner join invocations
        on node_results.invocation_id = invocations.invocation_id

),

classified as (

    select
        invocation_id,
        node_id,
        resource_type,
        node_name,
        result_status,
        dbt_command,
        target_name,
        started_at,
        completed_at,
        result_at,
        execution_seconds,
        rows_affected,
        failing_rows,
        result_message,
        test_name,
        test_severity,
        tested_column_name,
        max_loaded_at,
        freshness_age_seconds,
        freshness_sla_seconds,
        subject_node_id,
        cast(result_at as date) as result_date,
        case
            when subject_node_id like 'source.%'
                then
                    split_part(subject_node_id, '.', 3)
                    || '.'
                    || split_part(subject_node_id, '.', 4)
            else split_part(subject_node_id, '.', 3)
        end as table_label,
        case
            when resource_type = 'source'
                then split_part(node_id, '.', 3)
            when
                resource_type = 'model' and substr(node_name, 1, 4) = 'stg_'
                then split_part(substr(node_name, 5), '__', 1)
        end as source_name,
        case
            when declared_quality_dimension is not null
                then declared_quality_dimension
            when resource_type = 'source' then 'timeliness'
            when resource_type <> 'test' then null
            when test_name = 'not_null' then 'completeness'
            when
                test_name in ('unique', 'unique_combination_of_columns')
                then 'uniqueness'
            when
                test_name in (
                    'relationships',
                    'relationships_multi_column',
                    'vault_sat_matches_snapshot'
                )
                or test_name like 'scd%'
                then 'consistency'
            when
                test_name = 'singular'
                and (
                    node_name like '%reconcile%'
                    or node_name like '%matches_erp%'
                    or node_name like '%golden_values%'
                )
                then 'accuracy'
            else 'validity'
        end as quality_dimension,
        case
            when
                result_status in ('pass', 'success')
                then true
            when
                result_status in (
                    'fail', 'warn', 'error', 'runtime error'
                )
                then false
        end as is_passed

    from joined

)

select * from classified
