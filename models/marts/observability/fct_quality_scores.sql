with checks as (

    select * from {{ ref('int_quality_checks_unioned') }}

),

scored as (

    select
        check_date as score_date,
        table_label,
        quality_dimension,
        cast(count(*) as integer) as checks,
        cast(
            sum(case when check_score < 1 then 1 else 0 end) as integer
        ) as checks_failed,
        cast(sum(rows_failing) as bigint) as rows_failing,
        cast(avg(check_score) as decimal(9, 4)) as quality_score

    from checks
    group by check_date, table_label, quality_dimension

)

select * from scored
