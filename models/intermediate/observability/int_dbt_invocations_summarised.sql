with invocations as (

    select * from {{ ref('stg_ops__dbt_invocations') }}

),

node_results as (

    select * from {{ ref('stg_ops__dbt_node_results') }}

),

counted as (

    select
        invocation_id,
        sum(
            case
                when
                    resource_type in ('model', 'snapshot', 'seed')
                    and result_status = 'success'
                    then 1
                else 0
            end
        ) as nodes_built,
        sum(
            case
                when
                    resource_type in ('model', 'snapshot', 'seed')
                    and result_status = 'error'
                    then 1
                else 0
            end
        ) as nodes_failed,
        sum(
            case
                when
                    resource_type in ('test', 'unit_test')
                    and result_status = 'pass'
                    then 1
                else 0
            end
        ) as tests_passed,
        sum(
            case
                when
                    resource_type in ('test', 'unit_test')
                    and result_status in ('fail', 'error')
                    then 1
                else 0
            end
        ) as tests_failed,
        sum(
            case
                when
                    resource_type in ('test', 'unit_test')
                    and result_status = 'warn'
                    then 1
                else 0
            end
        ) as tests_warned,
        sum(
            case
                when
                    resource_type = 'source'
                    and result_status <> 'pass'
                    then 1
                else 0
            end
        ) as sources_not_fresh

    from node_results
    group by invocation_id

),

summarised as (

    select
        invocations.invocation_id,
        invocations.dbt_command,
        invocations.target_name,
        invocations.dbt_version,
        invocations.selector,
        invocations.started_at,
        invocations.ended_at,
        invocations.duration_seconds,
        invocations.invocation_status,
        invocations.node_count,
        cast(invocations.started_at as date) as run_date,
        cast(coalesce(counted.nodes_built, 0) as integer) as nodes_built,
        cast(coalesce(counted.nodes_failed, 0) as integer) as nodes_failed,
        cast(coalesce(counted.tests_passed, 0) as integer) as tests_passed,
        cast(coalesce(counted.tests_failed, 0) as integer) as tests_failed,
        cast(coalesce(counted.tests_warned, 0) as integer) as tests_warned,
        cast(coalesce(counted.sources_not_fresh, 0) as integer)
            as sources_not_fresh

    from invocations
    left join counted
        on invocations.invocation_id = counted.invocation_id

)

select * from summarised
