{#-
    Every carrier file reconciles: lines read = loaded + duplicate +
    quarantined, and the loaded and quarantined counts match the rows that
    actually landed from that file. Returns one row per file that does not.
-#}
with files as (

    select * from {{ ref('stg_carrier__file_reconciliations') }}

),

events as (

    select * from {{ ref('stg_carrier__shipment_events') }}

),

quarantined as (

    select * from {{ ref('stg_carrier__quarantined_lines') }}

),

events_per_file as (

    select
        source_file_name as file_name,
        count(*) as events_landed
    from events
    group by source_file_name

),

quarantined_per_file as (

    select
        file_name,
        count(*) as lines_landed
    from quarantined
    group by file_name

),

compared as (

    select
        files.file_name,
        files.lines_read,
        files.lines_loaded,
        files.lines_duplicate,
        files.lines_quarantined,
        coalesce(events_per_file.events_landed, 0) as events_landed,
        coalesce(quarantined_per_file.lines_landed, 0) as quarantined_landed
    from files
    left join events_per_file
        on files.file_name = events_per_file.file_name
    left join quarantined_per_file
        on files.file_name = quarantined_per_file.file_name

),

final as (

    select * from compared
    where
        lines_read
        <> lines_loaded + lines_duplicate + lines_quarantined
        or lines_loaded <> events_landed
        or lines_quarantined <> quarantined_landed

)

select * from final
