{#-
    Every quality check with a score between 0 and 1, one row per check,
    table and day: the last result that day of each dbt test and freshness
    check (pass 1, anything else 0), and per table and day the loaders'
    checks: records that passed validation (validity) and reconciled key
    ranges (accuracy), each the share of good units.
-#}
with node_results as (

    select * from {{ ref('int_dbt_node_results_classified') }}

),

table_loads as (

    select * from {{ ref('int_dlt_table_loads_joined') }}

),

dbt_checks as (

    select
        result_date as check_date,
        table_label,
        quality_dimension,
        node_name as check_name,
        is_passed,
        failing_rows,
        case
            when resource_type = 'source' then 'freshness' else 'dbt_test'
        end as check_kind,
        row_number() over (
            partition by node_id, result_date
            order by result_at desc
        ) as nth_latest

    from node_results
    where
        quality_dimension is not null
        and is_passed is not null
        and resource_type in ('test', 'source')

),

latest_dbt_checks as (

    select
        check_date,
        table_label,
        quality_dimension,
        check_kind,
        check_name,
        failing_rows as rows_failing,
        cast(
            case when is_passed then 1 else 0 end as decimal(9, 4)
        ) as check_score

    from dbt_checks
    where nth_latest = 1

),

quarantine_checks as (

    select
        load_date as check_date,
        table_label,
        'validity' as quality_dimension,
        'quarantine' as check_kind,
        'loader_quarantine' as check_name,
        cast(
            1 - cast(sum(rows_quarantined) as decimal(18, 4))
            / sum(rows_loaded + rows_quarantined)
            as decimal(9, 4)
        ) as check_score,
        cast(sum(rows_quarantined) as bigint) as rows_failing

    from table_loads
    where load_status = 'ok' and rows_quarantined is not null
    group by load_date, table_label
    having sum(rows_loaded + rows_quarantined) > 0

),

reconciliation_checks as (

    select
        load_date as check_date,
        table_label,
        'accuracy' as quality_dimension,
        'reconciliation' as check_kind,
        'loader_reconciliation' as check_name,
        cast(
            1 - cast(sum(reconciliation_mismatches) as decimal(18, 4))
            / sum(reconciliation_units)
            as decimal(9, 4)
        ) as check_score,
        cast(sum(rows_repaired) as bigint) as rows_failing

    from table_loads
    where load_status = 'ok' and reconciliation_units is not null
    group by load_date, table_label
    having sum(reconciliation_units) > 0

),

unioned as (

    select
        check_date,
        table_label,
        quality_dimension,
        check_kind,
        check_name,
        check_score,
        rows_failing
    from latest_dbt_checks

    union all

    select
        check_date,
        table_label,
        quality_dimension,
        check_kind,
        check_name,
        check_score,
        rows_failing
    from quarantine_checks

    union all

    select
        check_date,
        table_label,
        quality_dimension,
        check_kind,
        check_name,
        check_score,
        rows_failing
    from reconciliation_checks

)

select * from unioned
