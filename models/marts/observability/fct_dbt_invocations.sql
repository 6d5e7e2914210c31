with invocations as (

    select * from {{ ref('int_dbt_invocations_summarised') }}

),

final as (

    select
        invocation_id,
        dbt_command,
        target_name,
        dbt_version,
        selector,
        started_at,
        ended_at,
        run_date,
        cast(duration_seconds as decimal(18, 3)) as duration_seconds,
        invocation_status,
        node_count,
        nodes_built,
        nodes_failed,
        tests_passed,
        tests_failed,
        tests_warned,
        sources_not_fresh

    from invocations

)

select * from final
