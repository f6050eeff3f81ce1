%% The Erlang/OTP side of the `tell` benchmark (bench/tell.ts compiles and runs it when `erl`
%% is on PATH): the same shape as the TypeScript runs — Actors processes, each sent
%% PerRound * Rounds `{add, 1}` messages that add to its counter, by one producer, round by
%% round (PerRound messages to every actor, then the next round) — measured until every
%% counter has answered with its full total. Prints the OTP release and scheduler count, then
%% one `msgs_per_sec <rate>` line per repetition.
-module(tell).
-export([main/4]).

main(Actors, PerRound, Rounds, Times) ->
    io:format("otp ~s schedulers ~p~n",
              [erlang:system_info(otp_release), erlang:system_info(schedulers_online)]),
    lists:foreach(fun(_) -> once(Actors, PerRound, Rounds) end, lists:seq(1, Times)),
    halt(0).

once(Actors, PerRound, Rounds) ->
    Pids = [spawn(fun() -> counter(0) end) || _ <- lists:seq(1, Actors)],
    T0 = erlang:monotonic_time(microsecond),
    produce(Pids, PerRound, Rounds),
    Counts = [ask(Pid) || Pid <- Pids],
    T1 = erlang:monotonic_time(microsecond),
    Expected = PerRound * Rounds,
    case lists:all(fun(C) -> C =:= Expected end, Counts) of
        true -> ok;
        false -> io:format("lost messages~n"), halt(1)
    end,
    [exit(Pid, kill) || Pid <- Pids],
    Total = Actors * PerRound * Rounds,
    io:format("msgs_per_sec ~.1f~n", [Total / ((T1 - T0) / 1.0e6)]).

produce(_Pids, _PerRound, 0) -> ok;
produce(Pids, PerRound, Rounds) ->
    round(Pids, PerRound),
    produce(Pids, PerRound, Rounds - 1).

round(_Pids, 0) -> ok;
round(Pids, N) ->
    lists:foreach(fun(Pid) -> Pid ! {add, 1} end, Pids),
    round(Pids, N - 1).

ask(Pid) ->
    Pid ! {get, self()},
    receive {count, Pid, C} -> C end.

counter(N) ->
    receive
        {add, X} -> counter(N + X);
        {get, From} -> From ! {count, self(), N}, counter(N)
    end.
