{#- A calendar generated in SQL, one row per day from var dim_dates_start to
    var dim_dates_end; no external calendar is downloaded. -#}
with days as (

    {{ days_between(
        "'" ~ var("dim_dates_start") ~ "'", "'" ~ var("dim_dates_end") ~ "'", 'date_day'
    ) }}

),

calendar as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as calendar_year,
        cast(extract(quarter from date_day) as integer) as calendar_quarter,
        cast(extract(month from date_day) as integer) as calendar_month,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ iso_date_part("day_of_week", "date_day") }} as integer)
            as iso_day_of_week,
        cast(extract(week from date_day) as integer) as iso_week_of_year,
        cast({{ iso_date_part("year", "date_day") }} as integer) as iso_year,
        cast(extract(doy from date_day) as integer) as day_of_year
    from days

),

final as (

    select
        date_day,
        calendar_year,
        calendar_quarter,
        calendar_month,
        day_of_month,
        iso_day_of_week,
        iso_week_of_year,
        iso_year,
        day_of_year,
        cast(
            date_day - cast(day_of_month - 1 as integer) as date
        ) as first_day_of_month,
        case calendar_month
            when 1 then 'January'
            when 2 then 'February'
            when 3 then 'March'
            when 4 then 'April'
            when 5 then 'May'
            when 6 then 'June'
            when 7 then 'July'
            when 8 then 'August'
            when 9 then 'September'
            when 10 then 'October'
            when 11 then 'November'
            else 'December'
        end as month_name,
        case iso_day_of_week
            when 1 then 'Monday'
            when 2 then 'Tuesday'
            when 3 then 'Wednesday'
            when 4 then 'Thursday'
            when 5 then 'Friday'
            when 6 then 'Saturday'
            else 'Sunday'
        end as day_name,
        cast(calendar_year as {{ type_text() }})
        || '-'
        || lpad(cast(calendar_month as {{ type_text() }}), 2, '0')
            as calendar_year_month,
        iso_day_of_week in (6, 7) as is_weekend
    from calendar

)

select * from final
