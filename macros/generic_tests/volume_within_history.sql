{#-
    Volume anomaly test (warn): for each series (group_column), the volume
    (sum of value_column) of its latest period (date_column) against the
    median of its previous periods within lookback_days. Returns the series
    whose latest volume is more than max_ratio times that median (a jump)
    or less than the median divided by max_ratio (a drop), when the series
    has at least min_history earlier periods and the change is at least
    min_change rows. Plain SQL (a self-join and percentile_cont) that
    DuckDB and PostgreSQL both run.
-#}
{% test volume_within_history(
    model,
    date_column,
    group_column,
    value_column,
    lookback_days=14,
    min_history=3,
    max_ratio=3,
    min_change=10
) %}
{{ config(severity='warn', meta={'quality_dimension': 'completeness'}) }}

with volumes as (

    select
        {{ group_column }} as series,
        {{ date_column }} as period,
        sum({{ value_column }}) as volume
    from {{ model }}
    group by {{ group_column }}, {{ date_column }}

),

latest as (

    select
        series,
        max(period) as period
    from volumes
    group by series

),

current_volumes as (

    select
        volumes.series,
        volumes.period,
        volumes.volume
    from volumes
    inner join latest
        on
            volumes.series = latest.series
            and volumes.period = latest.period

),

history as (

    select
        current_volumes.series,
        current_volumes.period,
        current_volumes.volume,
        count(*) as history_periods,
        percentile_cont(0.5) within group (
            order by earlier.volume
        ) as median_volume
    from current_volumes
    inner join volumes as earlier
        on
            current_volumes.series = earlier.series
            and earlier.period < current_volumes.period
            and earlier.period >= {{ dbt.dateadd(
                'day', -lookback_days, 'current_volumes.period'
            ) }}
    group by
        current_volumes.series,
        current_volumes.period,
        current_volumes.volume

),

anomalies as (

    select
        series,
        period,
        volume,
        history_periods,
        median_volume,
        case
            when volume > median_volume * {{ max_ratio }} then 'jump'
            else 'drop'
        end as anomaly
    from history
    where
        history_periods >= {{ min_history }}
        and abs(volume - median_volume) >= {{ min_change }}
        and (
            volume > median_volume * {{ max_ratio }}
            or volume < median_volume / {{ max_ratio }}
        )

)

select * from anomalies

{% endtest %}
