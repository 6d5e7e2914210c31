with customer_snapshots as (

    select * from {{ ref('snap_erp__customers') }}

),

contact_snapshots as (

    select * from {{ ref('snap_crm__contacts') }}

),

customer_versions as (

    select
        customer_id,
        case
            when
                row_number() over (
                    partition by customer_id order by dbt_valid_from
                ) = 1
                then {{ scd2_low_date() }}
            else dbt_valid_from
        end as valid_from,
        dbt_valid_to as valid_to,
        dbt_is_deleted = 'True' as is_deleted,
        customer_name,
        nation_id,
        market_segment,
        account_balance,
        street_address_hash,
        phone_number_hash,
        loaded_at
    from customer_snapshots

),

contact_versions as (

    select
        contact_id,
        customer_id,
        case
            when
                row_number() over (
                    partition by contact_id order by dbt_valid_from
                ) = 1
                then {{ scd2_low_date() }}
            else dbt_valid_from
        end as valid_from,
        dbt_valid_to as valid_to,
        dbt_is_deleted = 'True' as is_deleted,
        lifecycle_stage,
        loyalty_tier,
        preferred_channel,
        has_marketing_consent,
        email_address_hash,
        loaded_at
    from contact_snapshots

),

customer_contact_versions as (

    select *
    from contact_versions
    where customer_id is not null and not is_deleted

),

change_points as (

    select
        customer_id,
        valid_from as changed_at
    from customer_versions

    union

    select
        customer_id,
        valid_from as changed_at
    from customer_contact_versions

    union

    select
        customer_id,
        valid_to as changed_at
    from customer_contact_versions
    where valid_to < {{ scd2_high_date() }}

),

intervals as (

    select
        customer_id,
        changed_at as valid_from,
        coalesce(
            lead(changed_at) over (
                partition by customer_id order by changed_at
            ),
            {{ scd2_high_date() }}
        ) as valid_to
    from change_points

),

conformed as (

    select
        {{ surrogate_key(['intervals.customer_id', 'intervals.valid_from']) }}
            as customer_sk,
        intervals.customer_id,
        intervals.valid_from,
        intervals.valid_to,
        intervals.valid_to = {{ scd2_high_date() }} as is_current,
        customer_versions.is_deleted,
        customer_versions.customer_name,
        customer_versions.nation_id,
        {{ surrogate_key(['customer_versions.nation_id']) }}
            as geography_sk,
        customer_versions.market_segment,
        customer_versions.account_balance,
        customer_versions.street_address_hash,
        customer_versions.phone_number_hash,
        customer_contact_versions.contact_id,
        customer_contact_versions.contact_id is not null as has_crm_profile,
        customer_contact_versions.lifecycle_stage,
        customer_contact_versions.loyalty_tier,
        customer_contact_versions.preferred_channel,
        customer_contact_versions.has_marketing_consent,
        customer_contact_versions.email_address_hash,
        greatest(
            customer_versions.loaded_at,
            coalesce(
                customer_contact_versions.loaded_at,
                customer_versions.loaded_at
            )
        ) as loaded_at

    from intervals
    inner join customer_versions
        on
            intervals.customer_id = customer_versions.customer_id
            and intervals.valid_from >= customer_versions.valid_from
            and intervals.valid_from < customer_versions.valid_to
    left join customer_contact_versions
        on
            intervals.customer_id = customer_contact_versions.customer_id
            and intervals.valid_from >= customer_contact_versions.valid_from
            and intervals.valid_from < customer_contact_versions.valid_to

),

unknown_member as (

    select
        {{ unknown_member_sk() }} as customer_sk,
        cast(-1 as bigint) as customer_id,
        {{ scd2_low_date() }} as valid_from,
        {{ scd2_high_date() }} as valid_to,
        true as is_current,
        false as is_deleted,
        'Unknown customer' as customer_name,
        cast(-1 as bigint) as nation_id,
        {{ unknown_member_sk() }} as geography_sk,
        'UNKNOWN' as market_segment,
        cast(null as decimal(15, 2)) as account_balance,
        cast(null as text) as street_address_hash,
        cast(null as text) as phone_number_hash,
        cast(null as bigint) as contact_id,
        false as has_crm_profile,
        cast(null as text) as lifecycle_stage,
        cast(null as text) as loyalty_tier,
        cast(null as text) as preferred_channel,
        cast(null as boolean) as has_marketing_consent,
        cast(null as text) as email_address_hash,
        {{ scd2_low_date() }} as loaded_at

),

final as (

    select * from conformed

    union all

    select * from unknown_member

)

select * from final
