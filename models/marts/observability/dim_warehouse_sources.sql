with loads as (

    select * from {{ ref('fct_dlt_loads') }}

),

node_results as (

    select * from {{ ref('fct_dbt_node_results') }}

),

load_history as (

    select
        source_name,
        cast(count(*) as integer) as loads,
        cast(
            sum(case when load_status = 'failed' then 1 else 0 end) as integer
        ) as loads_failed,
        max(finished_at) as last_load_at,
        max(
            case when load_status = 'ok' then finished_at end
        ) as last_successful_load_at

    from loads
    group by source_name

),

build_history as (

    select
        source_name,
        max(
            case
                when resource_type = 'model' and result_status = 'success'
                    then completed_at
            end
        ) as last_successful_build_at

    from node_results
    where source_name is not null
    group by source_name

),

freshness_checks as (

    select
        source_name,
        node_id,
        is_passed,
        row_number() over (
            partition by node_id order by completed_at desc
        ) as nth_latest

    from node_results
    where resource_type = 'source'

),

freshness as (

    select
        source_name,
        min(case when is_passed then 1 else 0 end) = 1 as is_fresh

    from freshness_checks
    where nth_latest = 1
    group by source_name

),

sources as (

    select source_name from load_history
    union
    select source_name from build_history

),

final as (

    select
        sources.source_name,
        cast(coalesce(load_history.loads, 0) as integer) as loads,
        cast(coalesce(load_history.loads_failed, 0) as integer)
            as loads_failed,
        load_history.last_load_at,
        load_history.last_successful_load_at,
        build_history.last_successful_build_at,
        freshness.is_fresh

    from sources
    left join load_history
        on sources.source_name = load_history.source_name
    left join build_history
        on sources.source_name = build_history.source_name
    left join freshness
        on sources.source_name = freshness.source_name

)

select * from final
