with nations as (

    select * from {{ ref('int_nations_joined') }}

),

keyed as (

    select
        {{ surrogate_key(['nation_id']) }} as geography_sk,
        nation_id,
        nation_name,
        region_id,
        region_name
    from nations

),

unknown_member as (

    select
        {{ unknown_member_sk() }} as geography_sk,
        cast(-1 as bigint) as nation_id,
        'UNKNOWN' as nation_name,
        cast(-1 as bigint) as region_id,
        'UNKNOWN' as region_name

),

final as (

    select * from keyed

    union all

    select * from unknown_member

)

select * from final
